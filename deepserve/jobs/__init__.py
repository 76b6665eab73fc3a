"""Training jobs: durable records (:mod:`.store`: SQLite or PostgreSQL), one process per job
(:mod:`.execute`, started by :mod:`.process`), run either by one supervisor per server
(:mod:`.supervisor`, the local backend) or by Celery workers (:mod:`.celery_backend`), as
chosen once at start-up (:mod:`.backend`); :mod:`.maintenance` interrupts jobs whose runner
died and prunes old ones."""
