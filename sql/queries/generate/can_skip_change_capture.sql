-- Whether a generation may write without change capture: segflow.transactions is empty (the aggregates will be
-- rebuilt from every line anyway) and this login may skip triggers (session_replication_role needs a superuser).
select not exists (select 1 from segflow.transactions) and current_setting('is_superuser') = 'on'
