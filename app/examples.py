"""The example inputs the views open with, in one place so that tests can check that each shows its
phenomenon on the app's default checkpoint (`app.common.SHIPPED_DEFAULT`; tests/test_app.py)."""

# Latent arithmetic: d = mean(group B) - mean(group A) of posterior means, added to the sentence.
ARITHMETIC_GROUP_A = "stock prices fell sharply\nthe market fell\nshares fell in heavy trading"
ARITHMETIC_GROUP_B = "stock prices rose sharply\nthe market rose\nshares rose in heavy trading"
ARITHMETIC_SENTENCE = "bond prices fell"          # reconstructed as itself at s = 0 on smim128
ARITHMETIC_STRENGTH = 2.0

# Ranking continuations by latent distance (Livne et al. 2020, Sec. 4.6): the unrelated one should rank last.
RANK_PROMPT = "the company said it expects"
RANK_CANDIDATES = "to report a loss\nto report a profit\nthe weather was nice today"
