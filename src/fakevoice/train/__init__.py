"""The one training loop (``loop.train``), its configuration, data pipeline and stages."""
