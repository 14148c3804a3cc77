/** Entry of the admin panel served at /admin. */
import { render } from 'preact';
import '../styles.css';
import { App } from './app.js';

const root = document.getElementById('app');
if (root) render(<App />, root);
