/** Entry of the token holder's page served at /me. */
import { render } from 'preact';
import '../styles.css';
import { MePage } from './me-page.js';

const root = document.getElementById('app');
if (root) render(<MePage />, root);
