-- Outbox claims: a sender takes the rows it is about to send by writing its claim token and a
-- lease (claimed_until, UTC) on them in one UPDATE, so two senders on one database (a second
-- process, a deploy overlap) never send one row twice. A claim is cleared when the row is
-- sent, retried or given up, and at the end of the sender's pass; a crashed sender's claims
-- are taken again once their lease has run out. A chat with a live claim on one of its pending
-- rows is left to that sender (its rows go out in order, from one sender).
ALTER TABLE outbox ADD COLUMN claim_token TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until TEXT;
CREATE INDEX outbox_chat_claims ON outbox (chat_id, claimed_until) WHERE status = 'pending';
