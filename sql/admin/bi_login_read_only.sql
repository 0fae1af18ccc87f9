-- Belt and braces for a BI login: every transaction is read-only, even if a grant slips in later.
alter role {login} set default_transaction_read_only = on
