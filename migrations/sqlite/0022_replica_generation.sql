-- Each registration of a replica gets a new generation. A replica taken for dead while it
-- was only cut off keeps serving for a while under its old generation; its late
-- settlements and returns find that generation gone and are applied as plain charges
-- (the recovery already returned what it had reserved), never as a second return.
ALTER TABLE replicas ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
