"""A compose file's services as the report shows them: kind, ports, the database each creates.

PyYAML reads the file (facts.read_services); this reads the documented fields of the Compose
spec (``image``, ``ports`` in short and long syntax, ``environment`` as a mapping or a list,
``command``) that no library we use interprets for us.
"""

from __future__ import annotations

DATABASE_ENV = {  # the official images' variables naming the database they create
    "POSTGRES_DB": "postgresql", "MYSQL_DATABASE": "mysql", "MARIADB_DATABASE": "mariadb",
    "MONGO_INITDB_DATABASE": "mongodb",
}
# Image (or service) name prefixes and the kind of server they run; PostGIS and TimescaleDB are PostgreSQL.
KINDS = {"postgres": "postgres", "postgis": "postgres", "timescale": "postgres", "redis": "redis", "valkey": "redis",
         "mysql": "mysql", "mariadb": "mariadb", "mongo": "mongo", "rabbitmq": "rabbitmq", "memcached": "memcached",
         "nginx": "nginx", "traefik": "traefik", "caddy": "caddy", "node": "node", "python": "python",
         "celery": "celery", "elasticsearch": "elasticsearch", "minio": "minio"}


def compose_ports(spec: dict) -> list[str]:
    """Ports as `published:target`, from the short syntax ("5433:5432") and the long one (a mapping)."""
    ports = []
    for port in spec.get("ports") or []:
        if isinstance(port, dict):
            published, target = port.get("published"), port.get("target")
            ports.append(f"{published}:{target}" if published else str(target))
        else:
            ports.append(str(port))
    return ports


def compose_environment(spec: dict) -> dict[str, str]:
    environment = spec.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in str(item) else (str(item), "") for item in environment)
    return {str(k): "" if v is None else str(v) for k, v in environment.items()} if isinstance(environment, dict) else {}


def compose_service(name: str, spec: dict) -> dict:
    """One service as the report shows it: image, kind, ports, the database it creates, password auth.

    Only names are read from ``environment``: values of other variables (passwords) are not kept.
    """
    image = str(spec.get("image") or "")
    base = image.rsplit("/", 1)[-1].split(":", 1)[0].lower()
    prefix = next((k for k in KINDS if base.startswith(k)), None) or next((k for k in KINDS if name.lower().startswith(k)), None)
    kind = KINDS.get(prefix)
    environment = compose_environment(spec)
    command = spec.get("command") or ""
    command = " ".join(map(str, command)) if isinstance(command, list) else str(command)
    return {
        "image": image,
        "kind": kind,
        "ports": compose_ports(spec),
        "databases": [environment[key] for key in DATABASE_ENV if environment.get(key)],
        "password_auth": "--requirepass" in command or any(
            key in environment for key in ("REDIS_PASSWORD", "POSTGRES_PASSWORD", "MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD")),
    }
