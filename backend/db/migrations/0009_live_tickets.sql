-- Live-channel tickets: the console's pages keep their session token in an HttpOnly cookie
-- that scripts cannot read, so a page opening the live channel asks for a ticket instead.
-- A ticket opens the channel (the hello) for a minute and does nothing else: the API's token
-- check never reads this table. Expired tickets are deleted as new ones are issued.

CREATE TABLE live_ticket (
    ticket_hash  bytea PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES app_user (id),
    expires_at   timestamptz NOT NULL
);

CREATE INDEX live_ticket_expires_idx ON live_ticket (expires_at);

-- The console's hold page asks, about once a second while it is open, which message told the
-- handhelds of a hold, to compare each device's acknowledged seq with it; and lists the pick
-- tasks the hold moved (their `task.reallocated` messages name the hold).
CREATE INDEX live_message_hold_idx ON live_message ((data ->> 'holdId'))
    WHERE type IN ('lot.held', 'task.reallocated');
