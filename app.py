"""Factorization Playground: pick the sample or upload ratings, press Train, watch the RMSE curve."""

from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from mfcore import DataError, SGDFactorizer, TrainingDiverged, load_ratings, random_split

SAMPLE = Path(__file__).parent / "sample_data" / "ratings.csv"

st.set_page_config(page_title="Factorization Playground", layout="wide")
st.title("Factorization Playground")
st.caption("SGD matrix factorization (Funk SVD / biased MF) trained live on the mfcore Numba core.")


@st.cache_data(show_spinner=False)
def load(data: bytes):
    return load_ratings(data)


upload = st.file_uploader("Ratings file (CSV/TSV/MovieLens); empty uses the bundled sample")
try:
    ratings = load(upload.getvalue() if upload else SAMPLE.read_bytes())
except DataError as exc:
    st.error(f"Could not load {upload.name}: {exc}")
    st.stop()
st.write(f"{len(ratings):,} ratings, {ratings.n_users:,} users, {ratings.n_items:,} items")

with st.form("settings"):
    k = st.slider("Factors K", 1, 200, 50)
    epochs = st.slider("Epochs", 1, 100, 20)
    lr = st.number_input("Learning rate", 0.0001, 1.0, 0.007, format="%.4f")
    reg = st.number_input("Regularization", 0.0, 1.0, 0.05, format="%.3f")
    train_clicked = st.form_submit_button("Train")

if train_clicked:
    train, test = random_split(ratings, 0.1, seed=0)
    model = SGDFactorizer(n_factors=k, n_epochs=epochs, lr=lr, reg=reg)
    chart = st.empty()
    curve = {"epoch": [], "train": [], "test": []}
    try:
        for result in model.fit_iter(train, test):
            curve["epoch"].append(result.epoch)
            curve["train"].append(result.train_rmse)
            curve["test"].append(result.test_rmse)
            figure = go.Figure([go.Scatter(x=curve["epoch"], y=curve[name], name=f"{name} RMSE")
                                for name in ("train", "test")])
            figure.update_layout(xaxis_title="epoch", yaxis_title="RMSE", height=380)
            chart.plotly_chart(figure, key=f"curve-{result.epoch}")
    except TrainingDiverged as exc:
        st.error(str(exc))
