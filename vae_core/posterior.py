"""The two posterior families q(z|x) and their priors: the diagonal Gaussian of every paper here, and the
von Mises-Fisher posterior of Xu & Durrett 2018 with a uniform prior on the sphere.

Everything that samples z ~ q(z|x), scores log q(z|x) or log p(z), or needs the KL goes through
`posterior_family(model)`, so an estimator written once is right for both:

    fam = posterior_family(model)
    z = fam.sample(mu, logvar, S)              # (S, B, n)
    fam.log_density(z, mu, logvar)             # log q(z|x), (S, B) nats
    fam.log_prior(z)                           # log p(z),   (S, B) nats
    fam.kl(mu, logvar)                         # KL(q || p), (B,) nats per sentence

`mu, logvar` are what `SentenceVAE.encode` returns. For the vMF family mu is the unit mean direction and
logvar is log(A_n(kappa) / kappa), the exact variance of z along any direction orthogonal to mu (for the
views that show a sigma or step k sigma); no Gaussian formula may be applied to it.
"""
from __future__ import annotations

import math
from functools import lru_cache

import torch

LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per dimension, same shape as mu (nats).

    Closed form (Kingma & Welling 2014, Appendix B): 0.5 (mu^2 + sigma^2 - log sigma^2 - 1).
    Sum over the last dimension for the KL per sentence (Bowman et al. 2016, Eq. 1).
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0)


def log_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag exp(logvar)), summed over the last dimension (nats); broadcasts over leading dims."""
    return -0.5 * (((z - mu) ** 2) * torch.exp(-logvar) + logvar + LOG_2PI).sum(-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """log p(z) for the prior N(0, I), summed over the last dimension (nats)."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


def gaussian_sample(mu: torch.Tensor, logvar: torch.Tensor, n_samples: int = 1,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """z = mu + sigma * eps, eps ~ N(0, I) (Kingma & Welling 2014, Sec. 2.4): (S, B, n) from mu, logvar (B, n)."""
    eps = torch.randn((n_samples,) + tuple(mu.shape), generator=generator, dtype=mu.dtype,
                      device="cpu" if generator is not None else mu.device).to(mu.device)
    return mu + torch.exp(0.5 * logvar) * eps


class GaussianPosterior:
    """q(z|x) = N(mu, diag exp(logvar)), prior p(z) = N(0, I) (Kingma & Welling 2014)."""

    name = "gaussian"
    per_dimension_kl = True

    def sample(self, mu, logvar, n_samples: int = 1, generator=None, scale: float = 1.0) -> torch.Tensor:
        """(S, B, n) draws; `scale` k draws from N(mu, (k sigma)^2) instead (the k-sigma perturbation)."""
        if scale <= 0:
            return mu.expand(n_samples, *mu.shape).clone()
        return gaussian_sample(mu, logvar + 2 * math.log(scale), n_samples, generator)

    def log_density(self, z, mu, logvar) -> torch.Tensor:
        """log N(z; mu, diag exp(logvar)), summed over the last dimension (nats); broadcasts."""
        return log_normal(z, mu, logvar)

    def sample_prior(self, shape: tuple, generator=None) -> torch.Tensor:
        """Draws from p(z) = N(0, I), float32 on the CPU, of `shape` (its last entry n)."""
        return torch.randn(shape, generator=generator)

    def log_prior(self, z) -> torch.Tensor:
        """log N(z; 0, I), summed over the last dimension (nats)."""
        return log_standard_normal(z)

    def kl_per_dim(self, mu, logvar) -> torch.Tensor:
        """KL(N(mu_d, sigma_d^2) || N(0, 1)) per dimension, (B, n) nats (Kingma & Welling 2014, App. B)."""
        return gaussian_kl(mu, logvar)

    def kl(self, mu, logvar) -> torch.Tensor:
        """KL(q(z|x) || p(z)), (B,) nats per sentence."""
        return self.kl_per_dim(mu, logvar).sum(-1)

    def neg_entropy(self, mu, logvar) -> torch.Tensor:
        """E_q[log q(z|x)] = -n/2 log(2 pi e) - 1/2 sum_d logvar_d, (B,) nats."""
        return -0.5 * (mu.size(-1) * LOG_2PI + (1 + logvar).sum(-1))

    def mean(self, mu, logvar) -> torch.Tensor:
        """E_q[z] = mu, (B, n)."""
        return mu

    def var_per_dim(self, mu, logvar) -> torch.Tensor:
        """Var_q(z_d) = exp(logvar_d), (B, n)."""
        return logvar.exp()


class VonMisesFisherPosterior:
    """q(z|x) = vMF(mu, kappa) on the unit sphere S^{n-1} with kappa fixed, prior p(z) = uniform on S^{n-1}
    (Xu & Durrett 2018, Sec. 3; jiacheng-xu/vmf_vae_nlp, NVLL/distribution/vmf_batch.py).

        log q(z|x) = log C_n(kappa) + kappa mu^T z,  C_n(kappa) = kappa^(n/2-1) / ((2 pi)^(n/2) I_(n/2-1)(kappa))
        log p(z)   = -log |S^{n-1}| = -log(2 pi^(n/2) / Gamma(n/2))
        KL         = kappa A_n(kappa) + log C_n(kappa) + log |S^{n-1}|,  A_n = I_(n/2) / I_(n/2-1)

    The KL depends on neither x nor mu: a constant of the objective, so it cannot collapse (Sec. 3.2). It is
    computed exactly (the paper's Eq. 6; Davidson et al. 2018); their code's `_vmf_kld` is the approximation
    of Guu et al. 2018, 1.5% lower at n = 50, kappa = 35 (7.628 vs 7.743 nats). Densities are with respect to
    the surface measure of the sphere, so IW-NLL's log p(z) - log q(z|x) is exact.
    Sampling is Wood (1994)'s rejection sampler for w = mu^T z, as their `_sample_weight`, with
    z = w mu + sqrt(1 - w^2) v, v uniform on the directions orthogonal to mu; w does not depend on mu (kappa
    is fixed), so z is a reparameterised sample and gradients reach mu. mu need not be unit: it is normalised.
    """

    name = "vmf"
    per_dimension_kl = False

    def __init__(self, dim: int, kappa: float):
        if dim < 2 or not kappa > 0:
            raise ValueError(f"a vMF posterior needs latent_dim >= 2 and kappa > 0, got {dim} and {kappa}")
        self.dim, self.kappa = dim, float(kappa)
        self.log_c, self.mean_cosine = _vmf_constants(dim, self.kappa)
        self.log_area = math.log(2) + dim / 2 * math.log(math.pi) - math.lgamma(dim / 2)

    @property
    def kl_value(self) -> float:
        """KL(vMF(mu, kappa) || U(S^{n-1})) in nats per sentence, the same for every x."""
        return self.kappa * self.mean_cosine + self.log_c + self.log_area

    @property
    def logvar_value(self) -> float:
        """log Var(v^T z) for any unit v orthogonal to mu: log(A_n(kappa) / kappa) (Mardia & Jupp 2000, 9.3)."""
        return math.log(self.mean_cosine / self.kappa)

    def sample(self, mu, logvar=None, n_samples: int = 1, generator=None, scale: float = 1.0) -> torch.Tensor:
        """(S, B, n) draws from vMF(mu / |mu|, kappa / scale^2). scale k > 0 is the vMF's k-sigma perturbation:
        its spread orthogonal to mu is k times the posterior's (exactly so as kappa grows, where vMF tends to a
        Gaussian of variance 1/kappa on the tangent space); k = 0 returns the mean direction itself."""
        direction = mu / mu.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        if scale <= 0:
            return direction.expand(n_samples, *mu.shape).clone()
        shape = (n_samples,) + tuple(mu.shape[:-1])
        w = _wood_cosines(self.dim, self.kappa / scale ** 2, shape, generator).to(mu.device, mu.dtype)[..., None]
        v = torch.randn(shape + (self.dim,), generator=generator, dtype=torch.float32,
                        device="cpu" if generator is not None else mu.device).to(mu.device, mu.dtype)
        v = v - (v * direction).sum(-1, keepdim=True) * direction            # orthogonal to mu
        v = v / v.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        return w * direction + torch.sqrt((1 - w * w).clamp(min=0)) * v

    def log_density(self, z, mu, logvar=None) -> torch.Tensor:
        """log vMF(z; mu / |mu|, kappa), (...) nats; z on the unit sphere; broadcasts."""
        direction = mu / mu.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        return self.log_c + self.kappa * (z * direction).sum(-1)

    def sample_prior(self, shape: tuple, generator=None) -> torch.Tensor:
        """Draws from p(z) = U(S^{n-1}) (normalised Gaussians), float32 on the CPU, of `shape` (last entry n)."""
        g = torch.randn(shape, generator=generator)
        return g / g.norm(dim=-1, keepdim=True).clamp(min=1e-12)

    def log_prior(self, z) -> torch.Tensor:
        """log of the uniform density on S^{n-1}, (...) nats."""
        return torch.full(z.shape[:-1], -self.log_area, dtype=z.dtype, device=z.device)

    def kl_per_dim(self, mu, logvar=None):
        """None: the vMF's KL does not split over dimensions."""
        return None

    def kl(self, mu, logvar=None) -> torch.Tensor:
        """KL(q(z|x) || p(z)), (B,) nats per sentence: the constant `kl_value`."""
        return torch.full(mu.shape[:-1], self.kl_value, dtype=torch.float32 if mu.dtype != torch.float64
                          else mu.dtype, device=mu.device)

    def neg_entropy(self, mu, logvar=None) -> torch.Tensor:
        """E_q[log q(z|x)] = log C_n(kappa) + kappa A_n(kappa), (B,) nats."""
        return torch.full(mu.shape[:-1], self.log_c + self.kappa * self.mean_cosine, dtype=mu.dtype, device=mu.device)

    def mean(self, mu, logvar=None) -> torch.Tensor:
        """E_q[z] = A_n(kappa) mu / |mu|, (B, n)."""
        return self.mean_cosine * mu / mu.norm(dim=-1, keepdim=True).clamp(min=1e-12)

    def var_per_dim(self, mu, logvar=None) -> torch.Tensor:
        """Var_q(z_d), (B, n): the diagonal of Cov(z) = s_w mu mu^T + s_perp (I - mu mu^T) for unit mu, with
        s_w = Var(w) = 1 - (n - 1) A / kappa - A^2 and s_perp = A / kappa (Mardia & Jupp 2000, 9.3)."""
        a = self.mean_cosine
        s_perp = a / self.kappa
        s_w = 1 - (self.dim - 1) * a / self.kappa - a * a
        u = mu / mu.norm(dim=-1, keepdim=True).clamp(min=1e-12)
        return s_perp + (s_w - s_perp) * u * u


@lru_cache(maxsize=64)
def _vmf_constants(dim: int, kappa: float) -> tuple[float, float]:
    """(log C_n(kappa), A_n(kappa)) in float64, with exponentially scaled Bessel functions so that large
    kappa does not overflow: log I_v(k) = log ive(v, k) + k."""
    from scipy.special import ive
    nu = dim / 2 - 1
    log_i = math.log(ive(nu, kappa)) + kappa
    log_c = nu * math.log(kappa) - dim / 2 * LOG_2PI - log_i
    return log_c, float(ive(dim / 2, kappa) / ive(nu, kappa))


def _wood_cosines(dim: int, kappa: float, shape: tuple, generator=None, max_rounds: int = 1000) -> torch.Tensor:
    """w = mu^T z for z ~ vMF(mu, kappa) on S^{dim-1}, float64 of `shape` (Wood 1994; Xu & Durrett's
    `_sample_weight`, vectorised). The Beta((dim-1)/2, (dim-1)/2) proposal is drawn as X / (X + Y) with X, Y
    sums of dim - 1 squared normals (chi-square), so that a torch.Generator makes it reproducible.
    Raises RuntimeError if some draws are still rejected after `max_rounds` rounds (acceptance is above 0.5
    for every dim and kappa, so this does not happen)."""
    m = dim - 1
    b = m / (math.sqrt(4 * kappa ** 2 + m ** 2) + 2 * kappa)
    x0 = (1 - b) / (1 + b)
    c = kappa * x0 + m * math.log(1 - x0 ** 2)
    n = math.prod(shape)
    out = torch.empty(n, dtype=torch.float64)
    todo = torch.arange(n)
    for _ in range(max_rounds):
        if len(todo) == 0:
            return out.view(shape)
        k = len(todo)
        g = torch.randn((2, k, m), generator=generator, dtype=torch.float64).pow(2).sum(-1)
        eps = g[0] / (g[0] + g[1])
        w = (1 - (1 + b) * eps) / (1 - (1 - b) * eps)
        u = torch.rand(k, generator=generator, dtype=torch.float64)
        ok = kappa * w + m * torch.log(1 - x0 * w) - c >= torch.log(u)
        out[todo[ok]] = w[ok]
        todo = todo[~ok]
    raise RuntimeError(f"vMF sampler: {len(todo)} draws still rejected after {max_rounds} rounds")


_GAUSSIAN = GaussianPosterior()


def posterior_family(model_or_cfg) -> GaussianPosterior | VonMisesFisherPosterior:
    """The posterior family of a model (or its ModelConfig): `VonMisesFisherPosterior` when
    cfg.posterior == "vmf", else the Gaussian."""
    cfg = getattr(model_or_cfg, "cfg", model_or_cfg)
    if getattr(cfg, "posterior", "gaussian") == "vmf":
        return VonMisesFisherPosterior(cfg.latent_dim, cfg.vmf_kappa)
    return _GAUSSIAN
