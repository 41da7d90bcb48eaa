"""Reminders: the timing rules, the digest engine and the activity reminders."""
