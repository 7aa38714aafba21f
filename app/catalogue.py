"""Every view of the explorer, once: the navigation (app/main.py) and the Start page's list both read it.
(file in app/views, title, url path, section, what it shows)."""
VIEWS = [
    ("encode.py", "Encode & reconstruct", "encode", "Sentences",
     "type a sentence: its posterior q(z|x) and decodes from μ, samples and k·σ perturbations"),
    ("perturb.py", "Perturb at k·σ", "perturb", "Sentences", "how far from a sentence's code the decode changes"),
    ("homotopy.py", "Homotopy", "homotopy", "Sentences", "decode the path between two sentences' codes (Bowman et al. 2016)"),
    ("downstream.py", "Impute & rank", "impute-rank", "Sentences", "fill missing words; rank continuations of a prompt"),
    ("arithmetic.py", "Latent arithmetic", "arithmetic", "Sentences",
     "move a sentence along the direction between two groups of sentences"),
    ("projection.py", "Corpus map", "projection", "Latent space",
     "a whole corpus as a map: colour, search, cluster, select, neighbours; export for TensorBoard"),
    ("unit.py", "Latent unit", "unit", "Latent space", "one dimension of z: its KL, histogram, extremes, traversal, words"),
    ("traversal.py", "Latent traversal", "traversal", "Latent space", "sweep one dimension of z and read how the sentence changes"),
    ("overlap.py", "Overlap histograms", "overlap", "Latent space", "do sentences share latent regions? (Livne et al. 2020, Fig. 3)"),
    ("jacobian.py", "Jacobian embeddings", "jacobian", "Latent space",
     "the decoder's Jacobian: its spectrum and word neighbours (Krishnan et al. 2018)"),
    ("prior.py", "Prior samples", "prior", "Latent space", "decodes of z ~ p(z), and how varied and original they are"),
    ("collapse.py", "Collapse diagnostics", "collapse", "Models", "does the decoder use z at all? KL per dimension over training"),
    ("evaluate.py", "Evaluate", "evaluate", "Models", "NLL, IW-NLL, KL, PPL, active units, MI and BLEU-1 on a split or a file"),
    ("methods.py", "Methods (rate–distortion)", "methods", "Models",
     "every evaluated model on the rate–distortion plane, the papers' figures beside ours"),
    ("model_card.py", "Model card & training", "model-card", "Models", "configuration and training curves"),
]
