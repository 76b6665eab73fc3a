"""Training jobs: durable records (:mod:`.store`), one process per job (:mod:`.execute`),
started and stopped by one supervisor per server (:mod:`.supervisor`)."""
