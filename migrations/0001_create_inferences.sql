-- Every provider call the gateway makes (one row per attempt, including failed ones).
CREATE TABLE inferences (
  id          uuid PRIMARY KEY,
  provider    text NOT NULL,
  model       text NOT NULL,
  status      text NOT NULL CHECK (status IN ('ok', 'error')),
  http_status int,
  created_at  timestamptz NOT NULL DEFAULT now()
);
