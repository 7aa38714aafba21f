"""The example inputs the views open with, in one place so that tests can check that each shows its
phenomenon on the app's default checkpoint (`app.common.SHIPPED_DEFAULT`; tests/test_app.py)."""

# Latent arithmetic: d = mean(group B) - mean(group A) of posterior means, added to the sentence.
ARITHMETIC_GROUP_A = "stock prices fell sharply\nthe market fell\nshares fell in heavy trading"
ARITHMETIC_GROUP_B = "stock prices rose sharply\nthe market rose\nshares rose in heavy trading"
ARITHMETIC_SENTENCE = "the dollar fell"           # itself at s = 0, "the dollar rose" from s = 0.25 to 1.5 on smim128-v2
ARITHMETIC_STRENGTH = 1.5                      # at 2, smim128-v2 decodes "the dollar rose rose"

# Ranking continuations by latent distance (Livne et al. 2020, Sec. 4.6): the unrelated one should rank last.
RANK_PROMPT = "the company said it expects"
RANK_CANDIDATES = "to report a loss\nto report a profit\nthe weather was nice today"
