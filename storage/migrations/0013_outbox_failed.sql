-- The HR digest lists the notifications Telegram refused (status 'failed') by the time of
-- their last try (not_before: the sender tries a row at its not_before, and a retry moves it).
CREATE INDEX outbox_failed ON outbox (not_before) WHERE status = 'failed';
