-- examples/quickstart/schema.sql: the sample schema `make demo` loads.
CREATE TABLE customers (
    id         integer PRIMARY KEY,
    name       text NOT NULL,
    city       text,
    balance    numeric(12, 2) NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO customers (id, name, city, balance) VALUES
    (1, 'Ada Lovelace',    'London', 120.50),
    (2, 'Grace Hopper',    'New York', 88.00),
    (3, 'Edsger Dijkstra', 'Eindhoven', 42.42),
    (4, 'Barbara Liskov',  'Boston', 7.00),
    (5, 'Niklaus Wirth',   'Zurich', 19.95);
