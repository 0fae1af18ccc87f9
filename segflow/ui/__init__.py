"""`segflow ui`: a Streamlit app on the segflow database (app.py is the entry, pages/ one module per page)."""
