"""Scheduled and composite jobs: nightly (cron/systemd) and the demo."""
