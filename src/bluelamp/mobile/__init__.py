"""The officer mobile app (issue 7): its use cases, built on tracking, command and records."""
