"""The review app: people judge doubtful edits and correct product masks in a browser.

Layout: ``schema`` (tables), ``db`` (engine, migrations), ``queue`` (leasing work), ``agreement``
(kappa / IoU, pure), ``masks`` (RLE, GrabCut), ``importer`` / ``exporter`` (JSONL in and out),
``accounts`` and ``security`` (users, sessions, passwords, CSRF, safe paths), ``throttle``
(failed logins), ``roots`` (the folders images may be served from), ``stats`` (admin numbers),
``app`` (the web app: middlewares, settings) and ``web`` (its routes, one router per area).
"""
