-- A BI login sees exactly the BI schema's views, without a schema prefix.
alter role {login} set search_path = segflow_bi
