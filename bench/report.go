package bench

// Row is one line of the comparison: a case in one mode, graft next to
// PyTorch. The torch fields are null when the peer did not run.
type Row struct {
	Model          string   `json:"model"`
	Mode           string   `json:"mode"`
	Batch          int      `json:"batch"`
	Size           int      `json:"size"`
	GraftImgS      float64  `json:"graft_img_s"`
	TorchImgS      *float64 `json:"torch_img_s"`
	Ratio          *float64 `json:"ratio"` // graft / torch throughput
	PeakRSSMB      float64  `json:"peak_rss_mb"`
	TorchPeakRSSMB *float64 `json:"torch_peak_rss_mb"`
	// FLOPsPerImage is one image's forward pass (2 FLOPs per multiply-add
	// of the convolutions and linear layers, nn.Model.FLOPs); the
	// GFLOP/s are the step's FLOPs (3× the forward to train, 1× to
	// infer) times images per second. Absent where graft cannot count
	// the network (detectors) or the side did not run.
	FLOPsPerImage int64    `json:"flops_per_image,omitempty"`
	GraftGFLOPS   *float64 `json:"graft_gflops"`
	TorchGFLOPS   *float64 `json:"torch_gflops"`
	// Under a mixed --precision, PyTorch also runs its own autocast at
	// that type; TorchImgS and Ratio stay PyTorch in fp32, the baseline
	// users start from.
	TorchAutocastImgS *float64 `json:"torch_autocast_img_s,omitempty"`
	RatioAutocast     *float64 `json:"ratio_autocast,omitempty"`
	// Every round's img/s when there were several (Report.Rounds); the
	// columns above are the fastest of each.
	GraftRounds         []float64 `json:"graft_img_s_rounds,omitempty"`
	TorchRounds         []float64 `json:"torch_img_s_rounds,omitempty"`
	TorchAutocastRounds []float64 `json:"torch_autocast_img_s_rounds,omitempty"`
}

// Report is what graft bench --json prints: the schema
// ({"results":[{model, mode, graft_img_s, torch_img_s, ratio,
// peak_rss_mb}]}) plus the settings needed to read it.
type Report struct {
	Results []Row `json:"results"`
	// Precision is graft's (fp32, bf16, fp16); PyTorch's fp32 columns are
	// always fp32.
	Precision string `json:"precision"`
	Threads   int    `json:"threads"`
	// Layout is graft's: auto (each architecture's own), nchw or nhwc.
	Layout           string `json:"layout"`
	PeerChannelsLast bool   `json:"torch_channels_last"`
	// FoldBN: graft's classifier inference ran with each BatchNorm folded
	// into the convolution before it, as graft predict runs.
	FoldBN bool `json:"fold_bn"`
	// Packed: graft's inference ran with prepacked oneDNN weights
	// (nn.Model.Pack), as graft predict runs.
	Packed bool `json:"packed"`
	// CastWeights: graft's bf16 training cast every weight on every step
	// (autocast's way) instead of keeping bf16 copies.
	CastWeights bool `json:"cast_weights,omitempty"`
	// OneDNNWeightGrad: graft's bf16 training computed every weight
	// gradient with oneDNN's kernel (torch.SetGEMMWeightGrad off).
	OneDNNWeightGrad bool `json:"onednn_wgrad,omitempty"`
	// PeerMalloc: PyTorch ran with graft's glibc malloc settings.
	PeerMalloc bool `json:"torch_graft_malloc,omitempty"`
	Warmup     int  `json:"warmup"`
	Steps      int  `json:"steps"`
	Isolated   bool `json:"isolated"` // one process per case and mode
	// Rounds is how many times each case was measured, the sides taking
	// turns; the rates are each side's fastest round (RunOptions.Rounds).
	Rounds int    `json:"rounds,omitempty"`
	Device string `json:"device"` // both sides'
	// CPU is the processor's model name (/proc/cpuinfo): rates and even
	// a run's rounding differ between CPU models that share an ISA.
	CPU             string `json:"cpu,omitempty"`
	LibtorchVersion string `json:"libtorch_version"`
	TorchVersion    string `json:"torch_version,omitempty"`
	Python          string `json:"python,omitempty"`
	// PeerError says why torch fields are null, when the peer was wanted.
	PeerError string     `json:"peer_error,omitempty"`
	RSS       *RSSReport `json:"rss,omitempty"`

	// SgemmGFLOPS is the roofline: the best rate of a SgemmSide² fp32
	// matrix product on Device with Threads (MeasureSgemm).
	SgemmGFLOPS *float64 `json:"sgemm_gflops"`
	// ConvGFLOPS is the best rate of a large 3×3 convolution on the same
	// device and threads (MeasureConv); the percentages read against the
	// higher of the two (Peak).
	ConvGFLOPS *float64 `json:"conv_gflops,omitempty"`
}

// Peak is the roofline's ceiling: the higher of the matrix product's and
// the convolution's measured rates, or 0 when neither was measured.
func (r Report) Peak() float64 {
	var p float64
	for _, v := range []*float64{r.SgemmGFLOPS, r.ConvGFLOPS} {
		if v != nil {
			p = max(p, *v)
		}
	}
	return p
}

// Rows pairs graft's result with the peer's in fp32 and, under a mixed
// precision, in PyTorch's autocast (each nil when it did not run), and
// returns one row per mode.
func Rows(g Result, peer, autocast *Result) []Row {
	var out []Row
	for _, mode := range Modes {
		gs := g.Train
		if mode == ModeInfer {
			gs = g.Infer
		}
		r := Row{Model: g.Case.Model, Mode: mode, Batch: g.Case.Batch, Size: g.Case.Size,
			GraftImgS: gs.ImgPerSec, PeakRSSMB: gs.PeakRSSMB, FLOPsPerImage: gs.FLOPs, GraftRounds: g.Rounds[mode]}
		gflops := func(imgS float64) *float64 {
			if gs.FLOPs == 0 {
				return nil
			}
			v := stepFLOPs(gs.FLOPs, mode) * imgS / 1e9
			return &v
		}
		r.GraftGFLOPS = gflops(gs.ImgPerSec)
		if peer != nil {
			ps := peer.Train
			if mode == ModeInfer {
				ps = peer.Infer
			}
			if ps.ImgPerSec > 0 {
				ti, tp := ps.ImgPerSec, ps.PeakRSSMB
				ratio := gs.ImgPerSec / ps.ImgPerSec
				r.TorchImgS, r.TorchPeakRSSMB, r.Ratio = &ti, &tp, &ratio
				r.TorchGFLOPS = gflops(ps.ImgPerSec)
				r.TorchRounds = peer.Rounds[mode]
			}
		}
		if autocast != nil {
			ps := autocast.Train
			if mode == ModeInfer {
				ps = autocast.Infer
			}
			if ps.ImgPerSec > 0 {
				ti, ratio := ps.ImgPerSec, gs.ImgPerSec/ps.ImgPerSec
				r.TorchAutocastImgS, r.RatioAutocast = &ti, &ratio
				r.TorchAutocastRounds = autocast.Rounds[mode]
			}
		}
		out = append(out, r)
	}
	return out
}
