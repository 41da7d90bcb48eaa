"""studybot application: config, wiring, CLI, domain rules, scheduler, i18n, sandbox."""
