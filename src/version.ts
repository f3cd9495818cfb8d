/** jhub's own version, and the JupyterHub version whose behaviour it reproduces. */
export const JHUB_VERSION = '0.1.0';
export const JUPYTERHUB_COMPAT_VERSION = '5.3.0';
