-- Customers of the file with no purchase in the lookback window: 'inactive' in segflow's runs, not clustered.
select count(*) from score_file_features where frequency is null
