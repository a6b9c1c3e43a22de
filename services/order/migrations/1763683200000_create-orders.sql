-- Up Migration
CREATE TABLE orders (
  id uuid PRIMARY KEY,
  -- Listing order and page-token position: unique, increasing, never reused.
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  -- Users live in the user service's database: no foreign key across services.
  user_id uuid NOT NULL,
  currency char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  total_cents bigint NOT NULL CHECK (total_cents >= 0),
  status text NOT NULL CHECK (status IN ('CREATED', 'CANCELLED')),
  -- Idempotency key: the unique constraint, not a prior look-up, is what
  -- guarantees one order per key under concurrent retries.
  request_id text UNIQUE CHECK (char_length(request_id) BETWEEN 1 AND 128),
  -- Fingerprint of the payload first sent with request_id.
  request_hash text,
  create_time timestamptz NOT NULL DEFAULT now(),
  CHECK ((request_id IS NULL) = (request_hash IS NULL))
);

CREATE INDEX orders_user_id_seq_idx ON orders (user_id, seq);

CREATE TABLE order_items (
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  position integer NOT NULL CHECK (position >= 0),
  sku text NOT NULL CHECK (sku ~ '^[A-Za-z0-9_-]{1,64}$'),
  quantity integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
  unit_price_cents bigint NOT NULL CHECK (unit_price_cents BETWEEN 0 AND 100000000),
  PRIMARY KEY (order_id, position)
);

-- Down Migration
DROP TABLE order_items;
DROP TABLE orders;
