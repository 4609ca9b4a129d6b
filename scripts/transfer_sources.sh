# Sourced by plain_table.sh and advise_validation.sh: the sources and target
# sets both measure on, made in $out with the graft binary $g (each kept when
# already there; all are deterministic):
#   fm04-src, fm59-src: smallcnn pretrained on Fashion-MNIST classes 0–4 / 5–9;
#   fmev-src, fmod-src: the same on the even / odd classes (made later, under
#   today's pretrain defaults, which the flags spell out);
#   be: synthetic Belgian signs at --difficulty 1 (40 shared classes, 100 each),
#   be-src pretrained on it; de-, se-train (25 per class) and -test (20).
[ -f "$out/fm04-src.json" ] || $g pretrain --arch smallcnn --train 'fashion-mnist?classes=0-4' --epochs 5 --seed 1 --batch 64 --val-split 0.1 --out "$out/fm04-src" --quiet
[ -f "$out/fm59-src.json" ] || $g pretrain --arch smallcnn --train 'fashion-mnist?classes=5-9' --epochs 5 --seed 1 --batch 64 --val-split 0.1 --out "$out/fm59-src" --quiet
[ -f "$out/fmev-src.json" ] || $g pretrain --arch smallcnn --train 'fashion-mnist?classes=0,2,4,6,8' --epochs 5 --seed 1 --batch 32 --val-split 0.2 --out "$out/fmev-src" --quiet
[ -f "$out/fmod-src.json" ] || $g pretrain --arch smallcnn --train 'fashion-mnist?classes=1,3,5,7,9' --epochs 5 --seed 1 --batch 32 --val-split 0.2 --out "$out/fmod-src" --quiet
[ -d "$out/be" ] || $g synth --country be --classes shared --per-class 100 --size 32 --seed 1 --difficulty 1 --out "$out/be" -q
for c in de se; do
  [ -d "$out/$c-train" ] || $g synth --country $c --classes shared --per-class 25 --size 32 --seed 2 --difficulty 1 --out "$out/$c-train" -q
  [ -d "$out/$c-test" ] || $g synth --country $c --classes shared --per-class 20 --size 32 --seed 3 --difficulty 1 --out "$out/$c-test" -q
done
[ -f "$out/be-src.json" ] || $g pretrain --arch smallcnn --train "$out/be" --epochs 15 --lr 3e-3 --seed 1 --batch 64 --val-split 0.1 --out "$out/be-src" --quiet
