select exists (select 1 from segflow.transactions)
