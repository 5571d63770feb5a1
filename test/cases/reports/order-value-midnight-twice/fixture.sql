\ir ../_fixtures/havana.sql
