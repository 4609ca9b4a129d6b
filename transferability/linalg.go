package transferability

import (
	"errors"
	"math"
)

// symEigen computes the eigendecomposition of the symmetric n×n matrix a
// (row-major, a[i*n+j]) with the cyclic Jacobi method. It returns the
// eigenvalues w and the eigenvectors as columns of v (v[i*n+k] is component i
// of eigenvector k). a is not modified.
func symEigen(a []float64, n int) (w, v []float64) {
	m := make([]float64, len(a))
	copy(m, a)
	v = make([]float64, n*n)
	for i := 0; i < n; i++ {
		v[i*n+i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		off, diag := 0.0, 0.0
		for i := 0; i < n; i++ {
			diag += m[i*n+i] * m[i*n+i]
			for j := i + 1; j < n; j++ {
				off += m[i*n+j] * m[i*n+j]
			}
		}
		if off <= 1e-30*diag || off == 0 {
			break
		}
		for p := 0; p < n; p++ {
			for q := p + 1; q < n; q++ {
				apq := m[p*n+q]
				if apq == 0 {
					continue
				}
				app, aqq := m[p*n+p], m[q*n+q]
				theta := (aqq - app) / (2 * apq)
				t := 1 / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				if theta < 0 {
					t = -t
				}
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := 0; k < n; k++ {
					mkp, mkq := m[k*n+p], m[k*n+q]
					m[k*n+p] = c*mkp - s*mkq
					m[k*n+q] = s*mkp + c*mkq
				}
				for k := 0; k < n; k++ {
					mpk, mqk := m[p*n+k], m[q*n+k]
					m[p*n+k] = c*mpk - s*mqk
					m[q*n+k] = s*mpk + c*mqk
				}
				for k := 0; k < n; k++ {
					vkp, vkq := v[k*n+p], v[k*n+q]
					v[k*n+p] = c*vkp - s*vkq
					v[k*n+q] = s*vkp + c*vkq
				}
			}
		}
	}
	w = make([]float64, n)
	for i := 0; i < n; i++ {
		w[i] = m[i*n+i]
	}
	return w, v
}

var errNotPD = errors.New("transferability: matrix is not positive definite")

// cholesky factors the symmetric positive-definite n×n matrix a in place
// into its lower-triangular factor L (upper triangle left untouched).
func cholesky(a []float64, n int) error {
	for j := 0; j < n; j++ {
		rj := a[j*n : j*n+j]
		s := a[j*n+j] - dot4(rj, rj)
		if !(s > 0) {
			return errNotPD
		}
		d := math.Sqrt(s)
		a[j*n+j] = d
		for i := j + 1; i < n; i++ {
			a[i*n+j] = (a[i*n+j] - dot4(a[i*n:i*n+j], rj)) / d
		}
	}
	return nil
}

// dot4 is the dot product with four running sums: the factorisations'
// inner loop, about twice as fast as one sum (the adds overlap).
func dot4(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// cholSolveRows solves L Lᵀ X = B in place for c right-hand sides at once,
// B row-major n×c: every pass over L serves all columns, and the inner
// loops run along rows.
func cholSolveRows(l []float64, n int, b []float64, c int) {
	row := func(i int) []float64 { return b[i*c : (i+1)*c] }
	// Forward with L (l[i][k], k < i), then back with Lᵀ (l[k][i], k > i).
	for i := 0; i < n; i++ {
		for k := 0; k < i; k++ {
			subScaled(row(i), row(k), l[i*n+k])
		}
		scaleRow(row(i), 1/l[i*n+i])
	}
	for i := n - 1; i >= 0; i-- {
		for k := i + 1; k < n; k++ {
			subScaled(row(i), row(k), l[k*n+i])
		}
		scaleRow(row(i), 1/l[i*n+i])
	}
}

// subScaled is dst −= f·src.
func subScaled(dst, src []float64, f float64) {
	if f == 0 {
		return
	}
	src = src[:len(dst)]
	for j := range dst {
		dst[j] -= f * src[j]
	}
}

func scaleRow(r []float64, f float64) {
	for j := range r {
		r[j] *= f
	}
}

// cholSolve solves L Lᵀ x = b in place given the factor from cholesky.
func cholSolve(l []float64, n int, b []float64) {
	for i := 0; i < n; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= l[i*n+k] * b[k]
		}
		b[i] = s / l[i*n+i]
	}
	for i := n - 1; i >= 0; i-- {
		s := b[i]
		for k := i + 1; k < n; k++ {
			s -= l[k*n+i] * b[k]
		}
		b[i] = s / l[i*n+i]
	}
}

// logDetSPD returns log det(a) for a symmetric positive-definite matrix.
func logDetSPD(a []float64, n int) (float64, error) {
	l := make([]float64, len(a))
	copy(l, a)
	if err := cholesky(l, n); err != nil {
		return 0, err
	}
	s := 0.0
	for i := 0; i < n; i++ {
		s += 2 * math.Log(l[i*n+i])
	}
	return s, nil
}

// gram returns XᵀX (d×d) for the rows of x selected by idx (all rows if idx is nil).
func gram(x [][]float64, d int, idx []int) []float64 {
	g := make([]float64, d*d)
	add := func(row []float64) {
		for i := 0; i < d; i++ {
			ri := row[i]
			if ri == 0 {
				continue
			}
			gi := g[i*d:]
			for j := i; j < d; j++ {
				gi[j] += ri * row[j]
			}
		}
	}
	if idx == nil {
		for _, row := range x {
			add(row)
		}
	} else {
		for _, k := range idx {
			add(x[k])
		}
	}
	for i := 0; i < d; i++ {
		for j := i + 1; j < d; j++ {
			g[j*d+i] = g[i*d+j]
		}
	}
	return g
}
