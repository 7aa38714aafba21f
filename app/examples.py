"""The example inputs the views open with, in one place so that tests can check that each shows its
phenomenon on the app's default checkpoint (`app.common.SHIPPED_DEFAULT`; tests/test_app.py)."""

# Latent arithmetic: d = mean(group B) - mean(group A) of posterior means, added to the sentence.
ARITHMETIC_GROUP_A = "stock prices fell sharply\nthe market fell\nshares fell in heavy trading"
ARITHMETIC_GROUP_B = "stock prices rose sharply\nthe market rose\nshares rose in heavy trading"
ARITHMETIC_SENTENCE = "the dollar fell"           # itself up to s = 0.25, "the dollar rose" from s = 0.375 to 1.5 on smim128-v2
ARITHMETIC_STRENGTH = 1.5                      # at 2, smim128-v2 decodes "the dollar rose rose"

# Imputing a missing word (Bowman et al. 2016, Sec. 5): one blank, since with two ("to ___ a ___") smim128-v2
# fills "wait a loss" (bowman-vae "post a loss"); with this one it fills "report", bowman-vae "post".
IMPUTE_TEXT = "the company said it expects to ___ a loss for the third quarter"

# Ranking continuations by latent distance (Livne et al. 2020, Sec. 4.6): the unrelated one should rank last.
RANK_PROMPT = "the company said it expects"
RANK_CANDIDATES = "to report a loss\nto report a profit\nthe weather was nice today"
