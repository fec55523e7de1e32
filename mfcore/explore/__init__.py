"""What a fitted model learned: recommendations with their explanation, similar items, 2-D maps of
the factors, ranking metrics against baselines, and folding in a new user.

Everything works on codes (row numbers of ``P_`` and ``Q_``) and the model's id maps ``user_ids_`` /
``item_ids_``; item titles and genres come from :func:`item_info`. Owns: :mod:`.lookup` (ids, titles,
counts), :mod:`.recommend` (fold-in, top items, similar items, explanations), :mod:`.support` (the
minimum support of the rating model's lists), :mod:`.views` (PCA maps, the ranking tables and their
readings), :mod:`.embed` (the t-SNE map; how much genre a map shows), :mod:`.compare` (the rating
model beside the ranking models and popularity). May import: :mod:`mfcore.evaluation`, :mod:`mfcore.models`,
:mod:`mfcore.data`.
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "ratings_items": ".lookup",
    "item_info": ".lookup",
    "item_stats": ".lookup",
    "user_ratings": ".lookup",
    "item_codes": ".lookup",
    "user_codes": ".lookup",
    "user_code": ".lookup",
    "training_counts": ".lookup",
    "FoldedUser": ".recommend",
    "fold_in": ".recommend",
    "recommend_scores": ".recommend",
    "top_items": ".recommend",
    "similar_items": ".recommend",
    "explain": ".recommend",
    "project_2d": ".views",
    "topn_comparison": ".compare",
    "topn_reading": ".compare",
    "lists_for_user": ".compare",
    "lists_for_new_user": ".compare",
    "list_numbers": ".compare",
    "min_support": ".support",
    "support_summary": ".support",
    "tsne_2d": ".embed",
    "main_genres": ".embed",
    "genre_structure": ".embed",
    "ranking_table": ".views",
    "ranking_reading": ".views",
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
