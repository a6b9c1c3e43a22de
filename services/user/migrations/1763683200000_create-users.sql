-- Up Migration
CREATE TABLE users (
  id uuid PRIMARY KEY,
  -- Listing order and page-token position: unique, increasing, never reused.
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  email text NOT NULL CHECK (char_length(email) <= 254),
  display_name text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 100),
  create_time timestamptz NOT NULL DEFAULT now()
);

-- Emails are unique regardless of case; the address is kept as the user typed it.
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- Down Migration
DROP TABLE users;
