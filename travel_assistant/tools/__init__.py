"""The travel tools the model can call (Hotpepper Gourmet, Rakuten Travel, Ekispert)."""
