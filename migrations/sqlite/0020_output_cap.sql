-- Never below zero (docs/reliability.md, "Output caps and balances"): the output limit
-- the gateway lowered a client's to (0 when it did not), and cost a settlement could not
-- charge because the balance held no more than the reservation.
ALTER TABLE logs ADD COLUMN output_cap INTEGER NOT NULL DEFAULT 0;
ALTER TABLE logs ADD COLUMN unbilled_quota INTEGER NOT NULL DEFAULT 0;
