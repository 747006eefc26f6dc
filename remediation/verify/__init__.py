"""``invoke verify URL...``: what a browser receives from a deployed site, as findings of the live area.

- ``options.py``: the command line, checked before any request (exit status 2);
- ``http.py``: one bounded request with httpx (trust store, SSL_CERT_FILE, --ca-file);
- ``tlsprobe.py``: the TLS handshake (protocol, certificate valid for the name, days left);
- ``observe.py``: everything one URL shows, as a JSON-able observation;
- ``headers.py``, ``cookies.py``, ``rules.py``: the observation as rows and findings;
- ``agreement.py``: settings against the wire (``invoke audit --live``);
- ``run.py``: URLs in parallel with a hard deadline each; ``report.py``: text, markdown, json.
"""

from .agreement import agreement_findings
from .options import VerifyOptions, verify_options
from .run import observe_all, verify_urls

__all__ = ["VerifyOptions", "agreement_findings", "observe_all", "verify_options", "verify_urls"]
