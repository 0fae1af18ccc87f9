-- A chunk of parsed lines (the COPY text format of segflow/data/ingest/parse.py) into the file's temporary table.
copy score_file_lines (
    invoice_id, stock_code, description, quantity, unit_price, invoiced_at, customer_id, country, batch_id,
    line_number
) from stdin
