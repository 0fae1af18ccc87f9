"""The app's pages, one module each, whose `render()` draws it. Not named `pages/`: Streamlit would list
that folder's files as pages of their own."""
