"""The contest organisers' baseline, defined once: the mean of 13 MFCCs (librosa's defaults:
2048-point FFT, 128 mel bands) into an MLP with two hidden layers of 128 (the seed write-up's
``MLP(hidden_dim=128)``). The registry's ``mfcc-mlp`` (torch) and the benchmark audit's
check of contest-likeness (scikit-learn, no torch in the build) both take it from here.

No torch here: the benchmark builder imports this.
"""

N_MFCC = 13
MFCC_FFT = 2048
MFCC_MELS = 128
HIDDEN = (128, 128)
