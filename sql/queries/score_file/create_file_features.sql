-- The RFM features of the file's customers, computed by queries/features/compute_rfm_features_from_lines.
create temporary table score_file_features (like segflow.customer_features) on commit drop
