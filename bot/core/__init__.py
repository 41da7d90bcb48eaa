"""What every feature uses: configuration, services, the clock, i18n, text limits, callback
data, the command registry, dialogs, the scheduler, working days. Imports no feature."""
