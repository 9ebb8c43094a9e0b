"""The scheduler process: one leader (a second copy on standby), alarms, outbox, heartbeat."""
