"""What the dashboard draws and checks, without Streamlit: Plotly figures, display tables, captions, upload limits."""
