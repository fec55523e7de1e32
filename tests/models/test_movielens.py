"""Accuracy on MovieLens with the defaults (skipped where ../shared/data is absent)."""

from mfcore import SGDFactorizer, load_ratings, random_split


def test_ml100k_default_accuracy(ml100k_path):
    train, test = random_split(load_ratings(ml100k_path), 0.1, seed=0)
    model = SGDFactorizer().fit(train, test)
    assert model.evaluate(test)["rmse"] <= 0.920  # Surprise's SVD: 0.936 on this split


def test_ml1m_k100_accuracy(ml1m_path):
    train, test = random_split(load_ratings(ml1m_path), 0.1, seed=0)
    model = SGDFactorizer(n_factors=100, n_epochs=20).fit(train, test)
    assert model.evaluate(test)["rmse"] <= 0.860
