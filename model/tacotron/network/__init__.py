"""The network: Tacotron's layers, attention, decoder, losses, and the trained-model folder it is saved in."""
