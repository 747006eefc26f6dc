"""``invoke deploy``: ship a commit to one host or a fleet (issue 9).

One module per job: layout (paths), archive (the commit's tree, front end built once), venvs (one
per requirements content), services (systemd units and supervisord programs, restarts), miglint
(migrations the running release cannot survive), health (after each batch), and the orchestrator.
"""
