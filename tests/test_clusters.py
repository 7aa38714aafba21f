"""Map clusters (HDBSCAN) and their class-based TF-IDF labels (vae_core.clusters), the weights against a hand
computation of Grootendorst 2022, Eq. 1."""
import numpy as np

from vae_core.clusters import cluster_map, cluster_words


def test_two_separated_blobs_are_two_clusters_and_a_far_point_is_unclustered():
    rng = np.random.default_rng(0)
    coords = np.concatenate([rng.normal(0, 0.3, (60, 2)), rng.normal(10, 0.3, (60, 2)), [[50.0, -50.0]]])
    labels = cluster_map(coords, min_cluster_size=10)
    assert len(set(labels[:60])) == 1 and len(set(labels[60:120])) == 1 and labels[0] != labels[60]
    assert labels[0] >= 0 and labels[-1] == -1


def test_labels_are_the_words_of_highest_class_tfidf():
    sents = ["stocks fell sharply", "stocks rose", "bonds fell", "rain fell today", "rain and snow", "snow fell"]
    labels = np.array([0, 0, 0, 1, 1, 1])
    words = cluster_words(sents, labels, top=2)
    # counts: c0 stocks 2, fell 2, sharply 1, rose 1, bonds 1 (7 words); c1 rain 2, snow 2, fell 2, today 1 (7)
    # W(t, c) = tf / 7 * log(1 + A / f), A = 7: stocks 2/7 log(1 + 7/2) = 0.430 leads c0; fell, in both
    # clusters (f = 4), 2/7 log(1 + 7/4) = 0.289 falls behind bonds, rose and sharply, 1/7 log(8) = 0.297 each,
    # whose tie the vocabulary's order breaks (bonds first)
    assert words[0] == ["stocks", "bonds"] and words[1] == ["rain", "snow"]
    assert cluster_words(sents, labels, top=5)[0] == ["stocks", "bonds", "rose", "sharply", "fell"]
    assert cluster_words(sents, np.full(6, -1)) == {}


def test_ptb_placeholders_are_not_label_words():
    """`<unk>` labelled every cluster of the PTB map as "unk" (seen in the browser): whole tokens only."""
    sents = ["the <unk> fell N N", "<unk> <unk> rose N", "rain and <unk>", "snow <unk> fell"]
    words = cluster_words(sents, np.array([0, 0, 1, 1]), top=3)
    assert all(w not in ("unk", "<unk>", "n") for ws in words.values() for w in ws)
    assert words[0] == ["rose", "fell"] and words[1][0] in ("rain", "snow")
