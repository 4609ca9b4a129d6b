# Independent numpy reference for LogME (You et al., ICML 2021, Algorithm 1),
# written after the authors' released code: SVD of F once, fixed-point updates
# of alpha, beta in the original D-dimensional space, m and F m formed
# explicitly. Same stopping rule as the Go code (relative change of
# lambda = alpha/beta below 1e-6), then evidence at the final alpha, beta.
# Reads {"f": [[...]], "y": [...], "c": C} as JSON on stdin, prints the score.
import json, sys
import numpy as np

def each_evidence(y, F, s, V, N, D):
    alpha, beta = 1.0, 1.0
    lam = alpha / beta
    Fty = F.T @ y
    def stats(alpha, beta):
        m = V @ ((V.T @ Fty) * beta / (alpha + beta * s))
        gamma = (beta * s / (alpha + beta * s)).sum()
        return gamma, m, (m * m).sum(), ((y - F @ m) ** 2).sum()
    for _ in range(1000):
        gamma, m, mm, res = stats(alpha, beta)
        alpha, beta = gamma / mm, (N - gamma) / res
        new_lam = alpha / beta
        if abs(new_lam - lam) / lam < 1e-6:
            break
        lam = new_lam
    gamma, m, mm, res = stats(alpha, beta)
    ev = (D / 2 * np.log(alpha) + N / 2 * np.log(beta)
          - 0.5 * np.sum(np.log(alpha + beta * s)) - beta / 2 * res
          - alpha / 2 * mm - N / 2 * np.log(2 * np.pi))
    return ev / N

d = json.load(sys.stdin)
F, y = np.array(d["f"], dtype=float), np.array(d["y"])
N, D = F.shape
_, sv, Vt = np.linalg.svd(F, full_matrices=True)
s = np.zeros(D); s[:len(sv)] = sv ** 2
V = Vt.T
print(repr(np.mean([each_evidence((y == c).astype(float), F, s, V, N, D)
                    for c in range(d["c"]) if (y == c).any()])))
