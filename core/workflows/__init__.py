"""The background workflows: operating them (schedules, on/off, history, the scheduler's
tick), when they are due, and what one pass receives."""
