\ir ../_fixtures/base.sql
